from reservation_service.app import create_app
from reservation_service.settings import ReservationSettings
from shared.runner import serve

if __name__ == "__main__":
    serve(create_app, ReservationSettings())
