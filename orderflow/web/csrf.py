"""The CSRF guard the forms share; the JSON API checks its own way (``api.py``)."""
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
