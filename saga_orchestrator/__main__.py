from saga_orchestrator.app import create_app
from saga_orchestrator.settings import SagaSettings
from shared.runner import serve

if __name__ == "__main__":
    serve(create_app, SagaSettings())
