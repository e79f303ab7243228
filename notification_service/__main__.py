from notification_service.app import create_app
from notification_service.settings import NotificationSettings
from shared.runner import serve

if __name__ == "__main__":
    serve(create_app, NotificationSettings())
