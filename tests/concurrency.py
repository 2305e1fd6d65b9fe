import threading

from django.db import IntegrityError, connection, transaction


def race(action, *, racers=4):
    """Run `action` in `racers` threads released at the same instant, each in its own
    transaction on its own database connection; return "created" or "refused" per thread."""
    barrier = threading.Barrier(racers)
    outcomes = []

    def racer():
        barrier.wait()
        try:
            with transaction.atomic():
                action()
            outcomes.append("created")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=racer) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)
