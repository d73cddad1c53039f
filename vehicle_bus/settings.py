"""Connection settings for the MQTT vehicle bus."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

DEFAULT_PORT = 1883
DEFAULT_TLS_PORT = 8883


class TlsSettings(BaseModel):
    """TLS for the broker connection; ``ca_file`` verifies the broker, cert/key authenticate the client."""

    model_config = ConfigDict(extra="forbid")

    ca_file: Path | None = Field(None, description="CA bundle that signed the broker's certificate")
    cert_file: Path | None = Field(None, description="client certificate (mutual TLS)")
    key_file: Path | None = Field(None, description="client private key (mutual TLS)")


class BusSettings(BaseModel):
    """Where and how to reach the MQTT broker.

    With no ``url`` the embedded broker is used: ``carvoice sim run`` starts it on
    ``embedded_host:embedded_port`` and clients connect there.
    """

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None,
                            description="mqtt://host[:port] or mqtts://host[:port]; none = embedded broker")
    username: str | None = Field(None, description="broker user name (with Mosquitto ACLs: the vehicle id)")
    password: SecretStr | None = Field(None, description="broker password")
    tls: TlsSettings | None = Field(None, description="TLS options (implied by mqtts://)")
    protocol: Literal["3.1.1", "5"] = Field("3.1.1",
                                            description="MQTT version; the embedded broker speaks 3.1.1")
    keepalive_s: int = Field(30, ge=5, le=3600, description="MQTT keep-alive interval")
    ack_timeout_s: float = Field(5.0, gt=0, description="how long a set request waits for the vehicle's ack")
    embedded_host: str = Field("127.0.0.1", description="where the embedded broker listens (no url given)")
    embedded_port: int = Field(DEFAULT_PORT, ge=1, le=65535, description="the embedded broker's port")

    @field_validator("url")
    @classmethod
    def _check_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"broker url must look like mqtt://host:port or mqtts://host:port, got {url!r}")
        parts.port  # noqa: B018 - raises ValueError for a malformed port
        return url

    @property
    def uses_embedded_broker(self) -> bool:
        return self.url is None

    @property
    def uses_tls(self) -> bool:
        return self.tls is not None or (self.url is not None and urlsplit(self.url).scheme == "mqtts")

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname if self.url else self.embedded_host

    @property
    def port(self) -> int:
        if self.url is None:
            return self.embedded_port
        return urlsplit(self.url).port or (DEFAULT_TLS_PORT if self.uses_tls else DEFAULT_PORT)

    def describe(self) -> str:
        scheme = "mqtts" if self.uses_tls else "mqtt"
        where = f"{scheme}://{self.host}:{self.port}"
        return f"embedded broker at {where}" if self.uses_embedded_broker else where
