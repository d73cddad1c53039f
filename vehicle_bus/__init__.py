"""The vehicle bus: VSS signal catalogue, MQTT topic contract and client, brokers, and the simulated car."""
