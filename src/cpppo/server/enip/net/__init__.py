"""The simulator's network layer: the asyncio EtherNet/IP server, fault controls, the web API."""
