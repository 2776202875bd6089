"""The secret key's life in the database: checking it against the stored credentials and
rotating it (re-encrypting every credential in one transaction)."""
