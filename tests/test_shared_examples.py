from _shared import EXAMPLES


def test_the_shared_api_examples_are_found() -> None:
    """The conformance and parsing tests read these; without them they would test nothing."""
    assert EXAMPLES.is_dir(), f"shared/api/examples not found (looked for {EXAMPLES})"
    assert len(list(EXAMPLES.glob("*__200__*.json"))) >= 20
