"""Demo data: the seeded users' orders and a simulated past."""
