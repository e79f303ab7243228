from event_store_service.app import create_app
from event_store_service.settings import EventStoreSettings
from shared.runner import serve

if __name__ == "__main__":
    serve(create_app, EventStoreSettings())
