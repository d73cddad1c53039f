"""The simulated vehicle: ECUs for climate, media and navigation behind the MQTT topic contract."""
