"""Children of citizens, verified by the civil registry (ЗАГС) and the Social Fund (СФР)."""
