"""Notification service (:5001): notifications from domain messages, in MongoDB."""
