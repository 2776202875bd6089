"""Pure translations between our billing objects and the neutral specs of `remote_specs`,
per remote, plus the external-reference table (our id ↔ remote id)."""
