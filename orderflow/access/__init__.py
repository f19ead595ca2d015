"""Who may do what: accounts and groups, the permissions matrix, log-in throttling, API
tokens, administration."""
