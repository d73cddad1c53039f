"""Username/password and TLS to a real Mosquitto."""

from __future__ import annotations

import subprocess

import pytest

from tests.helpers import make_pki, openssl, readable_by_the_broker
from vehicle_bus.brokers import MosquittoBroker
from vehicle_bus.client import BusClient
from vehicle_bus.errors import BusConnectionError
from vehicle_bus.settings import BusSettings, TlsSettings


@pytest.fixture(scope="module")
def secure_mosquitto(tmp_path_factory):
    """Mosquitto with a TLS listener (certificate from a throw-away CA) and a password file."""
    pki = tmp_path_factory.mktemp("pki")
    make_pki(pki)
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pki / "passwd"), "car1", "s3cret"], check=True)
    readable_by_the_broker(pki)
    options = (f"allow_anonymous false\npassword_file {pki / 'passwd'}\ncafile {pki / 'ca.crt'}\n"
               f"certfile {pki / 'server.crt'}\nkeyfile {pki / 'server.key'}")
    with MosquittoBroker(listener_options=options) as broker:
        yield broker, pki


def test_tls_and_password_reach_the_vehicle(secure_mosquitto, make_vehicle):
    broker, pki = secure_mosquitto
    settings = BusSettings(url=f"mqtts://127.0.0.1:{broker.port}", username="car1", password="s3cret",
                           tls=TlsSettings(ca_file=pki / "ca.crt"))
    vehicle = make_vehicle(settings)
    with BusClient(settings) as client:
        assert client.set(vehicle.vehicle_id, "Vehicle.Cabin.HVAC.IsRecirculationActive", True).value is True


@pytest.mark.parametrize("password, tls, message", [
    ("wrong", True, "Not authorized|Bad user name or password"),
    ("s3cret", False, "no connection within"),
])
def test_wrong_credentials_or_no_tls_are_refused(secure_mosquitto, password, tls, message):
    broker, pki = secure_mosquitto
    scheme = "mqtts" if tls else "mqtt"
    settings = BusSettings(url=f"{scheme}://127.0.0.1:{broker.port}", username="car1", password=password,
                           tls=TlsSettings(ca_file=pki / "ca.crt") if tls else None)
    with pytest.raises(BusConnectionError, match=message):
        BusClient(settings).connect(timeout_s=3)


def test_an_untrusted_broker_certificate_is_refused(secure_mosquitto, tmp_path):
    broker, _ = secure_mosquitto
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other CA",
            "-keyout", "other.key", "-out", "other.crt", cwd=tmp_path)
    settings = BusSettings(url=f"mqtts://127.0.0.1:{broker.port}", username="car1", password="s3cret",
                           tls=TlsSettings(ca_file=tmp_path / "other.crt"))
    with pytest.raises(BusConnectionError):
        BusClient(settings).connect(timeout_s=3)
