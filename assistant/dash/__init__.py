"""The live cabin and fleet dashboard (``carvoice dash``): an aiohttp server bridging the bus to a page."""
