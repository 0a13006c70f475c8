"""`python -m tests.saas.pooler_probe SCHEMA...`: threads, each in one tenant's schema, that read and
write that tenant's rows through DATABASE_URL (PgBouncer in the pooler tests) in autocommit and in
transactions, and count every answer that came from another tenant's schema. Prints JSON."""

import json
import os
import sys
import threading


def main(schemas: list[str], threads_per_schema: int = 3, rounds: int = 150) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings.test")
    import django

    django.setup()
    from django.db import DataError, connection, transaction
    from django_tenants.utils import schema_context

    from accounts.models import Role, User
    from saas.db import prepared

    checked, leaks, errors = [0], [0], []
    lock = threading.Lock()
    # The hot paths' prepared statements (saas/db/prepared.py) go as text behind the pooler: a
    # PREPARE would stay on one server connection and the EXECUTE find none on another.
    owner_statement = prepared.Statement(
        "SELECT email FROM accounts_user WHERE role = %s ORDER BY id LIMIT 1", label="probe_owner"
    )

    def owner_email() -> str:
        return User.objects.filter(role=Role.OWNER).order_by("pk").values_list("email", flat=True)[0]

    def owner_email_prepared() -> str:
        with connection.cursor() as cursor:
            prepared.execute(cursor, owner_statement, [Role.OWNER])
            return str(cursor.fetchone()[0])

    def work(schema: str) -> None:
        expected = f"owner@{schema.removeprefix('t_')}.test"
        seen = 0
        wrong = 0
        try:
            with schema_context(schema):
                for i in range(rounds):
                    answers = [owner_email(), owner_email_prepared()]  # autocommit: each its own transaction
                    with transaction.atomic():
                        answers.append(owner_email())
                        answers.append(owner_email_prepared())
                        # a write and its read-back, in the same transaction
                        User.objects.filter(email=expected).update(first_name=f"probe-{i}")
                        answers.append(
                            User.objects.get(email=expected).first_name == f"probe-{i}" and expected
                        )
                    with transaction.atomic():  # an error in a savepoint, rolled back, then on
                        try:
                            with transaction.atomic(), connection.cursor() as cursor:
                                cursor.execute("SELECT 1 / 0")
                        except DataError:
                            pass
                        answers.append(owner_email())
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT current_schema()")
                        answers.append(f"owner@{cursor.fetchone()[0].removeprefix('t_')}.test")
                    seen += len(answers)
                    wrong += sum(1 for answer in answers if answer != expected)
        except Exception as exc:  # a query that ran in another schema may fail outright
            errors.append(f"{schema}: {type(exc).__name__}: {exc}"[:300])
            wrong += 1
        finally:
            connection.close()
        with lock:
            checked[0] += seen
            leaks[0] += wrong

    threads = [
        threading.Thread(target=work, args=(schema,)) for schema in schemas for _ in range(threads_per_schema)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"checked": checked[0], "leaks": leaks[0], "errors": errors[:5]}))


if __name__ == "__main__":
    main(sys.argv[1:])
