"""Demo order data for `flask simulate`: customers, products, form values drawn from each step's
JSON Schema, and the decision each step takes."""
from __future__ import annotations

import random
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

from orderflow.workflow import form_conditions

CUSTOMERS = [
    ("Shenzhen Bright Electronics", "standard", "Bao'an District, Shenzhen", "Ms Li", "+86 755 2555 0101"),
    ("Guangzhou Pearl Trading", "key", "Tianhe Road 88, Guangzhou", "Mr Chen", "+86 20 3888 0102"),
    ("Hong Kong Vision Ltd", "strategic", "Room 5, Harbour Road, Hong Kong", "Ms Wong", "+852 5555 0103"),
    ("Dubai Star Home Appliances", "key", "Deira, Dubai, UAE", "Mr Al Mansouri", "+971 4 555 0104"),
    ("Lagos Digital Homes", "standard", "Ikeja, Lagos, Nigeria", "Mr Okafor", "+234 1 555 0105"),
    ("Nairobi Screens Co.", "standard", "Industrial Area, Nairobi, Kenya", "Ms Wanjiru", "+254 20 555 0106"),
    ("Sao Paulo Eletronicos", "key", "Av. Paulista 1000, Sao Paulo", "Sr Silva", "+55 11 5555 0107"),
    ("Istanbul Teknoloji A.S.", "standard", "Ikitelli OSB, Istanbul", "Mr Yilmaz", "+90 212 555 0108"),
    ("Warsaw Media Group", "standard", "ul. Prosta 20, Warsaw", "Ms Nowak", "+48 22 555 0109"),
    ("Manila Consumer Tech", "standard", "Makati City, Manila", "Mr Reyes", "+63 2 5555 0110"),
    ("Jakarta Elektronik Mandiri", "key", "Cikarang, Jakarta", "Mr Santoso", "+62 21 555 0111"),
    ("Hanoi Smart TV JSC", "standard", "Cau Giay, Hanoi", "Ms Nguyen", "+84 24 5555 0112"),
    ("Karachi Home Entertainment", "standard", "SITE Area, Karachi", "Mr Khan", "+92 21 555 0113"),
    ("Cairo Sat Systems", "key", "Nasr City, Cairo", "Mr Hassan", "+20 2 555 0114"),
    ("Mexico Cable Partners", "strategic", "Col. Polanco, Mexico City", "Sra Garcia", "+52 55 5555 0115"),
    ("Tashkent Telecom Supply", "standard", "Chilonzor, Tashkent", "Mr Karimov", "+998 71 555 0116"),
    ("Dhaka Vision Traders", "standard", "Tejgaon, Dhaka", "Mr Rahman", "+880 2 555 0117"),
    ("Riyadh Digital Trading", "key", "Olaya Street, Riyadh", "Mr Al Qahtani", "+966 11 555 0118"),
    ("Lima Teleco SAC", "standard", "Miraflores, Lima", "Sra Torres", "+51 1 555 0119"),
    ("Almaty Satellite TV", "standard", "Medeu District, Almaty", "Ms Abenova", "+7 727 555 0120"),
    ("Ningbo Hotel Supplies", "standard", "Yinzhou District, Ningbo", "Mr Zhao", "+86 574 555 0121"),
    ("Chengdu Operator Services", "strategic", "Hi-tech Zone, Chengdu", "Ms Yang", "+86 28 555 0122"),
]
PRODUCTS = [  # product, spec, unit price range (USD)
    ("TV-24", "24 inch HD, DVB-T2", (38, 52)), ("TV-32", "32 inch HD, DVB-T2/S2", (62, 90)),
    ("TV-43", "43 inch FHD, Android TV", (118, 160)), ("TV-55", "55 inch UHD, Android TV", (210, 290)),
    ("STB-T2", "DVB-T2 set-top box, H.265", (9, 15)), ("STB-S2", "DVB-S2 satellite receiver", (11, 18)),
    ("STB-IPTV", "IPTV/OTT box, 2 GB RAM", (19, 32)), ("RC-U1", "Universal remote control", (1.2, 2.5)),
]
CARRIERS = ["SF Express", "DHL Global Forwarding", "COSCO Shipping", "Maersk", "Kerry Logistics", "Yunda Freight"]
SUPPLIERS = ["BOE Display", "MStar Semiconductor", "Realtek", "Shenzhen Power Tech", "Dongguan Plastics",
             "Xiamen Packaging"]
LINES = ["SMT-1", "SMT-2", "SMT-3", "Assembly A", "Assembly B"]
NOTES = {
    "shortage_items": ["32 inch panels: 40 % of the quantity", "Main boards MSD6683 short by 300 pcs",
                       "Remote controls on back order"],
    "customer_reply": ["Customer agrees to wait two weeks for restock", "Customer accepts the substitute panel",
                       "Customer takes a partial delivery now, the rest later"],
    "approval_reason": ["Good customer history, price within policy", "Margin acceptable for this volume"],
    "review_reason": ["Data complete, credit checked", "Price confirmed against the price list"],
    "sample_feedback": ["Boot logo colour to change", "OSD language order to fix", "Samples approved by customer QA"],
    "revision_notes": ["New boot logo and OSD language order", "Changed remote key layout"],
    "contract_terms": ["30 % T/T deposit, 70 % before shipment; FOB Shenzhen; warranty 1 year",
                       "L/C at sight; CIF destination port; 1 % spare parts"],
    "deposit_chase_notes": ["Called the customer's accounts department; payment promised this week"],
    "balance_chase_notes": ["Reminder sent with the inspection report; transfer promised"],
    "bom_notes": ["BOM entered in ERP; main board and panel long-lead"],
    "purchase_notes": ["Panels ordered with priority"],
    "artwork_notes": ["Gift box and manual approved by the customer"],
    "cr_solution": ["MStar MSD6683 solution, Android 11"], "cr_cautions": ["Customer logo on boot screen only"],
    "cr_participants": ["Sales, engineering, QC, PMC"],
    "material_shortage": ["Panel delivery slipped by one week"], "expedite_notes": ["Supplier confirmed air freight"],
    "schedule_notes": ["Line booked; overtime on Saturday"],
    "production_anomaly": ["Solder defects on first batch, fixed"],
    "change_description": ["Customer asks for a new boot logo and an extra OSD language",
                           "Customer changes the remote control layout"],
    "change_test_result": ["Software change tested on 20 units, no regressions"],
    "change_customer_reply": ["Customer confirmed the change by e-mail"],
    "rework_notes": ["Reworked solder joints on the power board", "Replaced faulty panels and retested"],
    "location": ["WH-A-03", "WH-B-11", "WH-C-07"], "sales_list_notes": ["Balance received in full"],
    "receipt_notes": ["Goods received in good condition"], "archive_location": ["Archive cabinet 3, shelf 2"],
    "comment": ["OK", "Checked", "See attached report"],
    "case_description": ["Several sets arrived with cracked front frames", "Remote controls do not pair",
                         "No picture on HDMI 2 after a week", "Wrong language pack installed",
                         "Delivery came two weeks late, customer unhappy"],
    "findings": ["Damage consistent with transport", "Firmware fault confirmed on bench",
                 "No fault found after 48 h burn-in"],
    "resolution_reason": ["Fault confirmed; as agreed in the contract's warranty terms",
                          "Goodwill for a key account", "No fault found: explained to the customer"],
    "intake_notes": ["Photos received from the customer", "Called the customer to confirm details"],
    "inform_summary": ["Told the customer the outcome by phone and e-mail"],
    "comments": ["Good quality, slow delivery", "Very happy with the service", "Packaging could be better", ""],
    "cr_hw_sw_config": ["MSD6683 main board, Android 11, 1.5 GB RAM, 8 GB flash", "DVB-T2 tuner, H.265, 4 languages"],
    "alternative_details": ["Substitute panel from BOE, same size and resolution"],
}
SPEC = {"spec_main_board": "MSD6683 main board", "spec_chip_solution": "MStar MSD6683",
        "spec_languages": "English, Arabic, French", "spec_display": "BOE panel", "spec_power_board": "Built-in PSU",
        "spec_boot_logo": "Customer logo", "spec_gift_box": "Colour box, 5-layer", "spec_carton": "2 sets per carton",
        "spec_manual": "English/French manual", "spec_front_frame": "Black plastic", "spec_material": "ABS",
        "spec_hole_positions": "VESA 100 x 100", "spec_set_size": "730 x 430 x 80 mm",
        "spec_osd": "Customer menu colours, 4 languages", "spec_software_special": "Hotel mode",
        "spec_accessories_other": "Wall bracket", "spec_artwork_needs": "Gift box, manual and silkscreen with logo"}


# -- form data ------------------------------------------------------------------------

def _text(rng: random.Random, name: str, prop: dict) -> str:
    if name in NOTES:
        return rng.choice(NOTES[name])
    if name in SPEC:
        return SPEC[name]
    title = str(prop.get("title") or name.replace("_", " "))
    return f"{title}: see order file"


def _value(rng: random.Random, name: str, prop: dict, order: dict, today: date) -> Any:
    """A plausible value for one field of a form (by its name first, then by its type)."""
    days = lambda lo, hi: (today + timedelta(days=rng.randint(lo, hi))).isoformat()  # noqa: E731
    special: dict[str, Callable[[], Any]] = {
        "contract_no": lambda: f"CT-{today:%Y}-{rng.randint(1000, 9999)}",
        "bom_no": lambda: f"BOM-{rng.randint(10000, 99999)}",
        "sales_list_no": lambda: f"SL-{today:%Y%m}-{rng.randint(100, 999)}",
        "change_record_no": lambda: f"CR-{rng.randint(100, 999)}",
        "tracking_no": lambda: f"{rng.choice(['SF', 'DHL', 'COSU', 'MAEU'])}{rng.randint(10**9, 10**10 - 1)}",
        "carrier": lambda: rng.choice(CARRIERS),
        "driver_name": lambda: rng.choice(["Wang Wei", "Liu Yang", "Zhang Lei", "Huang Jun"]),
        "vehicle_no": lambda: f"粤B·{rng.randint(10000, 99999)}",
        "production_line": lambda: rng.choice(LINES),
        "planned_start": lambda: days(2, 7),
        "planned_ship_date": lambda: days(18, 35),
        "materials_expected_date": lambda: days(5, 20),
        "deposit_promised_date": lambda: days(2, 7), "balance_promised_date": lambda: days(2, 7),
        "revised_sample_date": lambda: days(3, 10),
        "sample_qty": lambda: rng.randint(1, 2),
        "sample_size": lambda: rng.choice([50, 80, 125, 200]),
        "rework_qty": lambda: rng.randint(5, 40),
        "quantity_in": lambda: sum(int(line.get("quantity", 0)) for line in order.get("lines") or []) or 1,
        "deposit_payer": lambda: order.get("customer") or "Customer",
        "balance_payer": lambda: order.get("customer") or "Customer",
        "deposit_kind": lambda: order.get("payment_terms") or "tt",
        "balance_kind": lambda: order.get("payment_terms") or "tt",
        "change_type": lambda: rng.choice(["software", "software", "hardware", "structure"]),
        "purchase_orders": lambda: [{"po_no": f"PO-{rng.randint(100000, 999999)}", "supplier": s,
                                     "material": m, "expected_date": days(5, 15)}
                                    for s, m in rng.sample(list(zip(SUPPLIERS, ["Panel", "Main board", "Chipset",
                                                                                  "Power board", "Housing",
                                                                                  "Gift box"])), 2)],
        "spec_cables": lambda: [{"cable": c, "length_m": 1.5, "material": "PVC"}
                                for c in rng.sample(["av", "hdmi", "rf"], 2)],
    }
    if name in special:
        return special[name]()
    kind = prop.get("type")
    if "enum" in prop:
        return prop["enum"][0]
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        low = prop.get("minimum", 0)
        return max(low, 1)
    if kind == "array":
        return []
    if prop.get("format") == "date":
        return today.isoformat()
    if prop.get("format") == "attachment":
        return None
    if kind == "string":
        return _text(rng, name, prop)
    return None


def fill_form(schema: dict, values: dict, order: dict, rng: random.Random, today: date,
              overrides: dict | None = None) -> dict:
    """What a careful clerk enters: every required field, most optional ones, the pre-filled
    values kept; ``overrides`` (the decision and what goes with it) win."""
    readonly = set((schema.get("ui") or {}).get("readonly") or [])
    overrides = overrides or {}
    # a show-if field counts when its condition holds (the server drops it otherwise)
    required = form_conditions.required_now(schema, {**order, **values, **overrides})
    data: dict[str, Any] = {}
    for name, prop in (form_conditions.whole(schema).get("properties") or {}).items():
        if name in readonly:
            continue
        if name in overrides:
            value = overrides[name]
        elif name in values and values[name] is not None:
            value = values[name]
        elif name in required or name == "decision" or rng.random() < 0.5:
            value = _value(rng, name, prop, order, today)
        else:
            continue
        if value is not None and value != "":
            data[name] = value
    return data


class _Line(TypedDict):
    product: str
    spec: str
    quantity: int
    unit_price: float


def new_order(rng: random.Random, start: datetime, threshold: float, big: bool) -> dict:
    customer, tier, address, contact, phone = rng.choice(CUSTOMERS)
    lines: list[_Line] = []
    for product, spec, (low, high) in rng.sample(PRODUCTS, rng.choice([1, 1, 1, 2, 2, 3])):
        quantity = rng.choice([50, 100, 200, 300, 500, 800, 1000, 1500, 2000])
        lines.append({"product": product, "spec": spec, "quantity": quantity,
                      "unit_price": round(rng.uniform(low, high), 2)})
    total = sum(line["quantity"] * line["unit_price"] for line in lines)
    target = threshold * rng.uniform(1.2, 3.0) if big else min(total, threshold * rng.uniform(0.05, 0.9))
    scale = target / total if total else 1
    for line in lines:  # keep the product mix, fit the amount
        line["quantity"] = max(1, round(line["quantity"] * scale))
    if big:
        while sum(line["quantity"] * line["unit_price"] for line in lines) <= threshold:
            lines[0]["quantity"] += max(1, lines[0]["quantity"] // 5)
    promised = rng.randint(14, 30) if rng.random() < 0.2 else rng.randint(35, 80)  # a fifth are rush orders
    data = {"customer": customer, "customer_tier": tier,
            "channel": rng.choice(["email", "email", "phone", "web", "fax", "visit", "trade_fair"]),
            "lines": lines, "promised_date": (start.date() + timedelta(days=promised)).isoformat(),
            "payment_terms": rng.choices(["tt", "lc", "bank_acceptance"], weights=[70, 20, 10])[0],
            "shipping_address": address, "contact_name": contact, "contact_phone": phone,
            "customer_email": "orders@" + "".join(ch for ch in customer.split()[0].lower() if ch.isalnum())
            + ".example"}
    if rng.random() < 0.3:
        data["notes"] = rng.choice(["Urgent: trade fair stock", "Repeat order", "Customer logo on gift box"])
    return data


# -- decisions ------------------------------------------------------------------------------

# the remedy an after-sales case of each type ends with
RESOLUTION = {"return": "refund", "exchange": "replace", "repair": "repair", "refund": "refund",
              "complaint": "explain"}


def _payment(rng: random.Random, part: str, short: bool, order: dict) -> dict:
    """Finance books a payment: part of what is still due (a shortfall), else all of it."""
    due = float(order.get(f"{part}_outstanding", order.get(f"{part}_expected")) or 0)
    payer = {f"{part}_payer": order.get("customer") or "Customer"}
    if short:
        return {"decision": "shortfall", f"{part}_amount": round(due * rng.uniform(0.3, 0.9), 2),
                "comment": "Bank charges deducted / partial transfer", **payer}
    return {"decision": "confirm", f"{part}_amount": due, **payer}


def decide(rng: random.Random, plan, element_id: str, order: dict) -> dict:
    """The decision for this visit of the step and the fields that go with it (``plan``: the
    simulation's plan for the order: its exception flags, visits so far, case type)."""
    f = plan.flags
    first = plan.visits.get(element_id, 0) == 0
    if element_id == "check_stock":
        if f["stock_shortage"] and first:
            return {"decision": "shortage", "shortage_items": rng.choice(NOTES["shortage_items"])}
        return {"decision": "sufficient"}
    if element_id == "handle_shortage":
        return {"decision": "cancel" if f["shortage_cancel"] else rng.choice(["wait", "substitute", "partial"])}
    if element_id == "review_order":
        if f["reject"]:
            return {"decision": "reject", "review_reason": "Customer credit not confirmed", "credit_ok": False}
        return {"decision": "approve"}
    if element_id == "confirm_sample":
        if f["sample_revise"] and first:
            return {"decision": "revise", "sample_feedback": rng.choice(NOTES["sample_feedback"][:2])}
        return {"decision": "confirm"}
    if element_id == "review_contract":
        return {"decision": "revise", "comment": "Payment terms to clarify"} \
            if f["contract_revise"] and first else {"decision": "approve"}
    if element_id in ("confirm_deposit", "confirm_balance"):
        return _payment(rng, element_id.split("_")[1], f[f"{element_id.split('_')[1]}_shortfall"] and first, order)
    if element_id == "track_materials":
        if f["material_shortage"] and first:
            return {"decision": "shortage", "material_shortage": rng.choice(NOTES["material_shortage"])}
        return {"decision": "complete"}
    if element_id == "approve_schedule":
        return {"decision": "revise", "comment": "Move to an earlier line slot"} \
            if f["schedule_revise"] and first else {"decision": "approve"}
    if element_id == "produce":
        report = plan.visits.get(element_id, 0)
        if report == plan.change_at and plan.visits.get("test_change", 0) == 0:
            return {"decision": "change_request", "production_stage": "smt",
                    "progress_percent": rng.randint(10, 40),
                    "change_description": rng.choice(NOTES["change_description"])}
        if report < plan.progress_updates + (1 if plan.change_at >= 0 else 0):
            return {"decision": "progress",
                    "production_stage": rng.choice(["smt", "insertion", "test", "assembly"]),
                    "progress_percent": min(95, 25 * (report + 1) + rng.randint(0, 15))}
        return {"decision": "finish", "production_stage": "packing", "progress_percent": 100}
    if element_id == "qc_inspection":
        if f["qc_fail"] and first:
            return {"decision": "fail", "qc_defects": rng.randint(6, 25),
                    "comment": "Defect rate above AQL 1.0: rework"}
        return {"decision": "pass", "qc_defects": rng.randint(0, 1)}  # within AQL 1.0 for n >= 50
    if element_id == "confirm_change":
        return {"decision": "confirm"}
    # after-sales: the case type decides the remedy; some claims are not valid
    if element_id == "intake_case":
        return {"decision": "reject", "intake_notes": "Outside the warranty period"} \
            if f["case_rejected"] else {"decision": "accept", "case_type": plan.case_type}
    if element_id == "decide_case":
        amount = rng.uniform(6000, 20000) if f["case_big"] else rng.uniform(200, 4500)
        return {"resolution": RESOLUTION[plan.case_type], "case_amount": round(amount, 2)}
    if element_id == "approve_case":
        return {"decision": "approve"}
    if element_id == "answer_survey":
        rating = rng.choices([1, 2, 3, 4, 5], weights=[3, 5, 15, 45, 32])[0]
        return {"rating": rating, "would_recommend": "yes" if rating >= 4 else "no",
                "comments": rng.choice(NOTES["comments"])}
    return {}
