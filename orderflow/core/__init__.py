"""The foundation every room stands on: settings, the database and its mapping, errors,
messages in two languages, and the platform a session carries."""
