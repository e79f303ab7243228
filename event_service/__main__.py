from event_service.app import create_app
from event_service.settings import EventSettings
from shared.runner import serve

if __name__ == "__main__":
    serve(create_app, EventSettings())
