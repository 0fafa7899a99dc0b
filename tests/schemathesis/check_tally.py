"""Fails unless every operation of the document got enough 2xx answers."""

import json
import sys

METHODS = ("get", "head", "post", "put", "patch", "delete", "options")


def main(document_path: str, tally_path: str, minimum: int, excluded: set) -> int:
    with open(document_path, encoding="utf-8") as file:
        document = json.load(file)
    with open(tally_path, encoding="utf-8") as file:
        tally = json.load(file)
    short = []
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                label = f"{method.upper()} {path}"
                if label in excluded:
                    print(f"{'-':>6} not run here           {label}")
                    continue
                count = tally.get(label, 0)
                print(f"{count:6} successful answers  {label}")
                if count < minimum:
                    short.append(label)
    if short:
        print(f"fewer than {minimum} successful answers: {', '.join(short)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), set(sys.argv[4:])))
