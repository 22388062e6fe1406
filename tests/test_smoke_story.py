"""The agent's whole day over real HTTP: register, bill, collect, slip, public check."""

from helpers import (amount_of_bill, bill_code_from, collect_form, issue_bill, public_slip_url,
                     receipt_from, register, worker_id_from)


def test_agent_story_end_to_end(client, auth):
    assert auth.login("agent1").status_code == 303
    response = register(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    worker_id = worker_id_from(response)
    page = client.get(f"/workers/{worker_id}").get_data(as_text=True)
    assert "Menunggu pembayaran pertama" in page
    response = issue_bill(client, worker_id, 3)
    assert response.status_code == 303
    code = bill_code_from(response)
    amount = amount_of_bill(client, code)
    form = collect_form(client, code)
    response = client.post("/collect", data=dict(form, amount=str(amount)))
    assert response.status_code == 303, response.get_data(as_text=True)
    number = receipt_from(response)
    slip = client.get(f"/receipts/{number}").get_data(as_text=True)
    assert "SAH" in slip and "************0007" in slip
    public_url = public_slip_url(slip)
    auth.logout()
    public = client.get(public_url.replace("http://perisai.test", ""))
    assert public.status_code == 200
    html = public.get_data(as_text=True)
    assert "SAH" in html and "3273015208950007" not in html
