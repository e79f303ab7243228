"""Event store (:3001): event sourcing in MongoDB, history and reconstruction (ES1-ES3)."""
