"""Live events in: Segment's HTTP Tracking API payloads to canonical events and profiles."""
