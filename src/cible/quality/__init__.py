"""Data quality: normalisation of contact fields, the audit, and identity resolution."""
