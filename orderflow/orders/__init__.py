"""The order business on the platform: related orders, customer files, the managers' board
and the analytics."""
