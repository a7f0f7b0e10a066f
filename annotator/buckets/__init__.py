"""Bring-your-own-bucket: connections, the endpoint guard's users, sync, and `_annotations.json`."""
