"""What the tests share and nothing runs by itself: clients and helpers, databases, real servers,
sample documents, the browser, and the hostile-input tables. No test module imports another."""
