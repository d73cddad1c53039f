"""The intent catalogue and dialogue: from a driver's sentence to validated vehicle actions."""
