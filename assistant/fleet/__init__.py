"""Fleet configuration: layered, signed config documents over MQTT, the vehicle's agent, the operator."""
