from payment_service.app import create_app
from payment_service.settings import PaymentSettings
from shared.runner import serve

if __name__ == "__main__":
    serve(create_app, PaymentSettings())
