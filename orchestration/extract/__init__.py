"""Extract: talk to Amazon's Selling Partner API for one tenant at a time."""
