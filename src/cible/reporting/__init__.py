"""Reports a marketer reads: one self-contained HTML page, in French or English."""
