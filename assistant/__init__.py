"""carvoice: an offline in-car voice assistant. This package composes the stages and holds the CLI."""
