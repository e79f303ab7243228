from analytics_service.app import create_app
from analytics_service.settings import AnalyticsSettings
from shared.runner import serve

if __name__ == "__main__":
    serve(create_app, AnalyticsSettings())
