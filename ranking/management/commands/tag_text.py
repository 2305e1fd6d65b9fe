import json
import sys
from dataclasses import dataclass

from django.core.management.base import BaseCommand, CommandError

from ranking.tagging import TaggerUnavailable, active_tagger

BATCH = 256  # lines tagged at once: one vectoriser pass, and output flows while input still arrives


@dataclass
class Line:
    number: int
    text: str | None = None
    id: object = None
    error: str | None = None


def parse(number: int, raw: str) -> Line:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        return Line(number, error=f"not JSON ({error.msg} at column {error.colno})")
    if not isinstance(value, dict) or not isinstance(value.get("text"), str):
        return Line(number, error='expected an object with a string "text"')
    return Line(number, text=value["text"], id=value.get("id"))


class Command(BaseCommand):
    help = (
        'Tag posts read as JSON lines on stdin ({"text": "...", optional "id"}) with the active tagger. '
        "Writes one JSON line per input line: content_type, assets, topics, level, language, quality, "
        "confidence and "
        'model_version (and the "id" given); a bad line gives {"line": N, "error": "..."} and the rest go on. '
        "Blank lines are skipped."
    )
    stealth_options = ("stdin",)

    def handle(self, *args, **options):
        try:
            tagger = active_tagger()
        except TaggerUnavailable as error:
            raise CommandError(str(error)) from error
        pending: list[Line] = []
        for number, raw in enumerate(options.get("stdin", sys.stdin), start=1):
            if not raw.strip():
                continue
            pending.append(parse(number, raw))
            if len(pending) == BATCH:
                self.write(tagger, pending)
                pending = []
        self.write(tagger, pending)

    def write(self, tagger, lines: list[Line]) -> None:
        tagged = iter(tagger.tag([line.text for line in lines if line.error is None]))
        for line in lines:
            if line.error is not None:
                output = {"line": line.number, "error": line.error}
            else:
                output = {**next(tagged).as_dict(), "model_version": tagger.version}
                if line.id is not None:
                    output["id"] = line.id
            self.stdout.write(json.dumps(output, ensure_ascii=False))
        self.stdout.flush()
