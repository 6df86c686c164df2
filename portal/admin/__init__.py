"""The administrator's room: register relying parties, disable them, rotate their secrets."""
