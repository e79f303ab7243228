from console.app import create_app
from console.settings import ConsoleSettings
from shared.runner import serve

if __name__ == "__main__":
    # Open pages hold a stream each: a stop does not wait for them to be closed.
    serve(create_app, ConsoleSettings(), graceful_shutdown=1)
