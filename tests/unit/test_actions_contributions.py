"""Grants and contributions (actions.contributions) on the shipped example data.

The slot ``calls_outcome`` keeps its public name (the domain, the rules and the stories
load it by name); the feature is called contributions everywhere else.
"""

from __future__ import annotations

from actions.contributions import ActionContributions
from actions.subscription import ActionSubscribe
from tests.unit.conversation import run, says, slots, tracker, user


def test_contributions_open_upcoming_closed_and_none(ancona_office, at) -> None:
    at(2026, 11, 22, 10, 0)
    rent = slots(run(ActionContributions(), says("ask_contributions", grant_topic="affitto"))[0])
    assert rent["calls_outcome"] == "open"
    assert "scade il 31 dicembre 2026" in rent["info_details"]
    books = slots(
        run(ActionContributions(), says("ask_contributions", grant_topic="libri di testo"))[0]
    )
    assert books["calls_outcome"] == "upcoming"
    assert "apertura prevista" in books["info_details"]
    quake = slots(run(ActionContributions(), says("ask_contributions", grant_topic="terremoto"))[0])
    assert quake["calls_outcome"] == "closed"
    nothing = slots(run(ActionContributions(), says("ask_contributions", grant_topic="giovani"))[0])
    assert nothing["calls_outcome"] == "none_matching"
    assert "Contributo per l'affitto 2026" in nothing["info_details"]
    listing = slots(run(ActionContributions(), says("ask_contributions", "ci sono bandi?"))[0])
    assert listing["calls_outcome"] == "open_list"
    funeral = says("ask_contributions", "il comune rimborsa le spese funerarie?")
    unknown = slots(run(ActionContributions(), funeral)[0])
    assert unknown["calls_outcome"] == "none_matching"
    assert unknown["info_topic"] == "questo argomento"
    rent_words = slots(
        run(ActionContributions(), says("ask_contributions", "aiuti per gli affitti?"))[0]
    )
    assert rent_words["calls_outcome"] == "open"
    assert rent_words["info_topic"] == "affitto"


def test_yes_to_an_upcoming_contribution_follows_the_bandi_topic(ancona_office, at) -> None:
    at(2026, 11, 22, 10, 0)
    offer = slots(
        run(ActionContributions(), says("ask_contributions", grant_topic="libri di testo"))[0]
    )
    assert offer["offered_topic"] == "bandi"
    yes = {**user("affirm", "sì", confidence=1.0), "input_channel": "whatsapp"}
    result = slots(run(ActionSubscribe(), tracker(yes, slots={"offered_topic": "bandi"}))[0])
    assert result["subscription_outcome"] == "created"
    assert "«bandi e contributi»" in result["subscription_topics"]
    # From the web chat the notice is on WhatsApp: the link, and nobody subscribed here.
    yes = {**user("affirm", "sì", confidence=1.0), "input_channel": "socketio"}
    result = slots(run(ActionSubscribe(), tracker(yes, slots={"offered_topic": "bandi"}))[0])
    assert result == {
        "subscription_outcome": "on_whatsapp",
        "whatsapp_link": "https://wa.me/390712222222?text=Iscrivimi",
    }
