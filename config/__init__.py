"""Base layer: settings, database access and money primitives. Imports nothing of ours."""
