"""Client-side command-line tools: getattr, poll, list_services, thruput, io, and the A-B device
proxies.
"""
