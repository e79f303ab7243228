"""Code every service shares: settings, logs, errors, web app factory, HTTP, messaging, stores."""
