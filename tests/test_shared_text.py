import numpy as np

from newsfold.config import MinHashConfig, SharedTextConfig
from newsfold.shared_text import classify_groups, find_shared_text, segment_key, split_segments

HEADLINE = "Dock strike enters second week as talks stall - unions"
FOOTER = "© 2026 Daily Planet. All rights reserved. Sign up for our morning briefing."
QUOTE = (
    "“We will stay on the picket line until the port authority puts a fair offer on the table,” "
    "said union leader Marta Quill."
)

STRIKE_1 = f"""Dockworkers at the port of Valmora stayed off the job for an eighth day on Monday.

The Valmora Dockers Union says wages have not kept pace with rents in the harbour district.

{QUOTE}

Container ships are queuing outside the breakwater and exporters warn of spoiled fruit cargoes.

{HEADLINE}"""

STRIKE_2 = f"""Talks between the Valmora port authority and striking dockers broke down again.

Negotiators left the harbour offices after four hours without agreeing a new pay offer for dockers.

{QUOTE}

Fruit exporters said refrigerated containers at the Valmora terminal were running out of power.

{HEADLINE}"""

STRIKE_3 = f"""The port authority in Valmora offered dockers a three percent raise on Tuesday.

Union leader Marta Quill called the offer an insult to dockworkers and their families.

Shipping lines diverted two container vessels to neighbouring ports as the strike dragged on.

{FOOTER}"""

FLOOD = f"""Heavy rain flooded the lower town of Brisk overnight, forcing two hundred residents out.

Firefighters used boats to reach elderly residents stranded on upper floors near the river Lent.

The mayor of Brisk opened the school gymnasium as an emergency shelter for displaced families.

{FOOTER}"""

CHESS = f"""Grandmaster Ilya Torv won the Northern Open chess tournament after a tense final round.

Torv sacrificed a knight on move twenty-two and converted the endgame against the defending champion.

Organisers said next year's tournament will move to a larger hall because of record attendance.

{FOOTER}"""

TEXTS = [STRIKE_1, STRIKE_2, STRIKE_3, FLOOD, CHESS]


def run(texts=TEXTS, titles=None):
    titles = titles or [None] * len(texts)
    return find_shared_text(texts, titles, SharedTextConfig(), MinHashConfig())


def roles_by_text(result):
    return {(t, r) for t, r in zip(result.text, result.role, strict=True)}


def test_headline_boilerplate_and_syndicated_are_told_apart():
    result = run()
    assert roles_by_text(result) == {(HEADLINE, "headline"), (FOOTER, "boilerplate"), (QUOTE, "syndicated")}
    members = {}
    for seg, article in zip(result.segment_id, result.article, strict=True):
        members.setdefault(seg, set()).add(int(article))
    assert sorted(map(frozenset, members.values()), key=sorted) == sorted(
        [frozenset({0, 1}), frozenset({2, 3, 4}), frozenset({0, 1})], key=sorted
    )


def test_headline_and_boilerplate_are_stripped_syndicated_kept():
    result = run()
    for text in result.cleaned_texts:
        assert HEADLINE not in text
        assert FOOTER not in text
        assert text == text.strip() and "\n\n\n" not in text
    assert QUOTE in result.cleaned_texts[0] and QUOTE in result.cleaned_texts[1]
    assert result.cleaned_texts[3].startswith("Heavy rain flooded")


def test_shared_headline_becomes_title_unless_one_is_given():
    result = run(titles=[None, "Given title", None, None, None])
    assert result.titles[0] == HEADLINE
    assert result.titles[1] == "Given title"
    assert result.titles[2] is None


def test_offsets_point_into_the_original_text():
    result = run()
    for article, start, end, text in zip(result.article, result.start, result.end, result.text, strict=True):
        assert TEXTS[article][start:end] == text


def test_near_verbatim_copies_are_one_segment():
    edited = STRIKE_2.replace(HEADLINE, HEADLINE.replace("second week", "2nd week"))
    result = run(texts=[STRIKE_1, edited, STRIKE_3, FLOOD, CHESS])
    headline_rows = [r for r, t in zip(result.role, result.text, strict=True) if "week as talks" in t]
    assert headline_rows == ["headline", "headline"]
    assert len({s for s, t in zip(result.segment_id, result.text, strict=True) if "week as talks" in t}) == 1


def test_must_link_joins_articles_sharing_a_headline_or_passage():
    result = run()
    assert {tuple(p) for p in result.must_link.tolist()} == {(0, 1)}


def test_nothing_shared_leaves_texts_alone():
    result = run(texts=[FLOOD.replace(FOOTER, ""), CHESS.replace(FOOTER, "")])
    assert result.segment_id == []
    assert result.cleaned_texts == [FLOOD.replace(FOOTER, ""), CHESS.replace(FOOTER, "")]
    assert result.must_link.shape == (0, 2)


def test_single_line_articles_have_no_segments():
    segments = split_segments(
        ["one line only, a snippet", "another one-line snippet here"], SharedTextConfig()
    )
    assert segments.texts == []


def test_segment_key_ignores_case_and_punctuation():
    assert segment_key("Targets under review - PM!") == segment_key("targets  under review – pm")


def test_classify_rules():
    config = SharedTextConfig()
    roles = classify_groups(
        ["Storm closes schools across the north - live", "Read more: our full coverage", QUOTE, "Short line"],
        np.array([2, 2, 2, 2]),
        np.array([1.0, 1.0, 0.0, 0.0]),
        np.array([0.5, 0.5, 0.5, 0.01]),
        config,
    )
    assert roles == ["headline", "boilerplate", "syndicated", "boilerplate"]
