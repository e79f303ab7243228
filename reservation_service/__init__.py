"""Reservation service (:3000): reservations in MongoDB, timeline and statistics (DB3, DB4)."""
