"""The console as a team's inbox (issue 26): the queue's rows, assigning and transferring,
internal notes, each chat's trail, the history, and the live stream's waiting count."""

from __future__ import annotations

import json
import re

from tests.console.harness import PHONE, World
from tests.console.test_console import Events, claim
from urp.core.models import ASSIGNED, PENDING


def says(world: World) -> list[tuple]:
    return [call for call in world.rasa.calls if call[0] in ("say", "trigger")]


def test_a_queue_row_shows_channel_waiting_time_and_the_masked_last_message(
    world: World,
) -> None:
    world.handoffs.add_message(
        world.handoff.id, "citizen", "Sono Mario Rossi, il mio numero è 333 1234567, grazie"
    )
    mario = world.logged_in("mario.rossi")
    row = re.search(r'<tbody id="queue-rows">.*?</tr>', mario.page("/").text, re.S)
    assert row is not None
    cells = row.group(0)
    assert "WhatsApp" in cells
    assert "in attesa da meno di 1 min" in cells
    assert "«Sono [nome], il mio numero è [telefono], grazie»" in cells
    assert "333" not in cells and "Rossi" not in cells
    claim(mario, world.handoff.id)
    cells = mario.page("/").text
    assert "presa dopo meno di 1 min" in cells and "Mario Rossi" in cells


def test_an_operator_assigns_a_waiting_chat_and_the_citizen_hears_no_name(world: World) -> None:
    mario, lucia = world.logged_in("mario.rossi"), world.logged_in("lucia.bianchi")
    chat = f"/handoffs/{world.handoff.id}"
    page = mario.page(chat)
    assert "Assegna a un collega" in page.text
    options = re.findall(r'<option value="([a-z.]+)">', page.text)
    assert options == ["lucia.bianchi"]  # not himself (he would claim), not the trainer
    done = mario.submit(f"{chat}/assign", chat, colleague="lucia.bianchi")
    assert done.url == mario.url("/")
    assert f"Conversazione n. {world.handoff.id} assegnata a Lucia Bianchi." in done.text
    held = world.handoffs.get(world.handoff.id)
    assert (held.status, held.operator) == (ASSIGNED, "lucia.bianchi")
    # The bot falls silent; nothing is said to the citizen, least of all a name.
    assert world.rasa.calls == [("pause", PHONE)]
    assert "La conversazione è affidata a te" in lucia.page(chat).text
    assert "Lucia Bianchi l&#39;ha presa in carico" not in lucia.page(chat).text
    assert "Mario Rossi l&#39;ha assegnata a Lucia Bianchi" in lucia.page(chat).text


def test_assigning_with_rasa_down_leaves_the_chat_waiting(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    world.rasa.down = True
    page = mario.submit(f"{chat}/assign", chat, colleague="lucia.bianchi")
    assert "non è raggiungibile" in page.text
    assert world.handoffs.get(world.handoff.id).status == PENDING


def test_the_holder_transfers_with_a_message_only_the_colleague_reads(world: World) -> None:
    mario, lucia = world.logged_in("mario.rossi"), world.logged_in("lucia.bianchi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    # Lucia reads Mario's chat but may not give it away.
    assert "Passa a un collega" not in lucia.page(chat).text
    refused = lucia.submit(f"{chat}/assign", chat, colleague="lucia.bianchi")
    assert "assegnata a un altro operatore" in refused.text
    page = mario.submit(
        f"{chat}/assign", chat, colleague="lucia.bianchi", note="Aspetta la ricevuta TARI."
    )
    assert f"Conversazione n. {world.handoff.id} passata a Lucia Bianchi." in page.text
    assert world.handoffs.get(world.handoff.id).operator == "lucia.bianchi"
    assert says(world) == [
        ("trigger", PHONE, "EXTERNAL_handoff_claimed", {"handoff_operator": "Mario"})
    ]
    page = lucia.page(chat).text
    assert "Nota interna</strong> di Mario Rossi per Lucia Bianchi" in page
    assert "Aspetta la ricevuta TARI." in page
    assert "Mario Rossi l&#39;ha passata a Lucia Bianchi" in page
    # Now Lucia answers, Mario no longer.
    lucia.submit(f"{chat}/reply", chat, text="Buongiorno, sono Lucia.")
    assert world.rasa.calls[-1] == ("say", PHONE, "Buongiorno, sono Lucia.")
    late = mario.submit(f"{chat}/reply", chat, text="Ci sono io")
    assert "non è assegnata" in late.text


def test_a_note_is_shown_to_operators_and_never_sent(world: World) -> None:
    mario, lucia = world.logged_in("mario.rossi"), world.logged_in("lucia.bianchi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    page = lucia.submit(f"{chat}/notes", chat, text="L'ho sentita ieri al telefono.")
    assert "Nota interna aggiunta" in page.text
    assert 'class="message message-note"' in page.text
    assert "L&#39;ho sentita ieri al telefono." in page.text
    assert "Lucia Bianchi ha scritto una nota interna" in page.text
    assert [call[0] for call in world.rasa.calls] == ["trigger"]  # only Mario's claim
    empty = lucia.submit(f"{chat}/notes", chat, text="  ")
    assert "Scrivi il testo della nota." in empty.text
    trainer = world.logged_in("tina.verdi")
    forbidden = trainer.post(trainer.url(f"{chat}/notes"), data={"text": "x"}, timeout=120)
    assert forbidden.status_code == 403
    assert len(world.handoffs.teamwork.notes(world.handoff.id)) == 1


def test_the_chat_page_shows_the_trail_in_words(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    chat = f"/handoffs/{world.handoff.id}"
    claim(mario, world.handoff.id)
    mario.submit(f"{chat}/reply", chat, text="Eccomi")
    mario.submit(f"{chat}/release", chat)
    page = mario.page(chat).text
    trail = page[page.index("Chi ha fatto cosa") :]
    steps = re.findall(r"</time> ([^<]+)</li>", trail)
    assert steps == [
        "L&#39;assistente l&#39;ha passata all&#39;URP (chiede un operatore)",
        "Mario Rossi l&#39;ha presa in carico",
        "Mario Rossi ha risposto al cittadino",
        "Mario Rossi l&#39;ha rimessa in coda",
    ]


def test_the_history_searches_all_chats_and_keeps_the_search_in_the_address(
    world: World,
) -> None:
    mario = world.logged_in("mario.rossi")
    claim(mario, world.handoff.id)
    chat = f"/handoffs/{world.handoff.id}"
    mario.submit(f"{chat}/resolve", chat)
    web, _ = world.handoffs.open("socketio:abc", "socketio", "appointment")
    page = mario.page("/storico")
    assert "Storico delle conversazioni" in page.text and "2 conversazioni." in page.text
    found = mario.page("/storico?q=persona&stato=resolved").text
    assert f"Conversazione n. {world.handoff.id}</a>" in found
    assert f"Conversazione n. {web.id}</a>" not in found
    assert "1 conversazione." in found and "Mario Rossi" in found
    by_reason = mario.page("/storico?q=appuntamento&canale=Web").text
    assert f"Conversazione n. {web.id}</a>" in by_reason
    assert f"Conversazione n. {world.handoff.id}</a>" not in by_reason
    wrong = mario.page("/storico?dal=2026-13-40&al=2026-01-01&operatore=chi")
    assert wrong.status_code == 200
    assert "La data «dal» non è valida" in wrong.text
    assert "L&#39;operatore scelto non esiste." in wrong.text
    assert PHONE.lstrip("+") not in page.text + found
    assert world.logged_in("tina.verdi").page("/storico").status_code == 403


def test_the_history_pages_keep_the_filters(world: World) -> None:
    for number in range(25):
        world.handoffs.open(f"socketio:{number}", "socketio", "appointment")
    mario = world.logged_in("mario.rossi")
    first = mario.page("/storico?canale=Web").text
    assert "25 conversazioni, pagina 1 di 2." in first
    assert 'href="/storico?canale=Web&amp;pagina=2"' in first
    second = mario.page("/storico?canale=Web&pagina=2").text
    assert "pagina 2 di 2" in second and "Pagina precedente" in second


def test_the_stream_counts_the_waiting_chats_and_brings_notes(world: World) -> None:
    mario = world.logged_in("mario.rossi")
    queue = Events(mario, "/api/stream")
    chat = Events(mario, f"/api/stream?handoff={world.handoff.id}&after=0&notes_after=0")
    try:
        first = queue.wait_for(lambda name, data: name == "pending")
        assert first == {"count": 1, "chats": [{"id": world.handoff.id, "channel": "WhatsApp"}]}
        second, _ = world.handoffs.open("socketio:xyz", "socketio", "request")
        data = queue.wait_for(lambda name, data: name == "pending" and data["count"] == 2)
        assert {"id": second.id, "channel": "Web"} in data["chats"]
        assert chat.wait_for(lambda name, data: name == "pending" and data["count"] == 2)
        operator = world.operators.get("lucia.bianchi")
        world.handoffs.teamwork.add_note(world.handoff.id, operator, "Da richiamare")
        note = chat.wait_for(lambda name, data: name == "note")
        assert note["who"] == "Lucia Bianchi" and "Nota interna" in note["html"]
    finally:
        queue.close()
        chat.close()
    assert all(PHONE not in json.dumps(data) for _, data in queue.events + chat.events)
