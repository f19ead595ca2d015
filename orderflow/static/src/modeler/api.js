// JSON calls to /api/v1 with the session cookie; writes carry the page's CSRF token.

export class ApiError extends Error {
  constructor(status, message, problems) {
    super(message);
    this.status = status;
    this.problems = problems || [];
  }
}

export function makeApi(csrfToken, t) {
  return async function call(method, url, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-CSRFToken'] = csrfToken;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(url, { method, headers, credentials: 'same-origin',
        body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, t.offline);
    }
    if (response.status === 204) return null;
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.message || t.failed, error.problems);
    }
    return data;
  };
}
