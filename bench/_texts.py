"""Synthetic resident texts for the intake benchmark: English and Spanish, 20 to 300 characters.

Made from openers x bodies x closers with filled slots (several hundred distinct templates per language), with a
share of texts that carry personal data (e-mail, phone, plate) or deployment codes so redaction has work to do.
Nothing here is read from the project's labelled test data.
"""

from __future__ import annotations

import random

EN = {
    "tech": ["camera", "licence plate reader", "air quality sensor", "noise meter", "smart streetlight",
             "parking sensor", "traffic signal", "gunshot detector", "kiosk", "wifi beacon", "bike counter",
             "drone", "smart bin", "lidar unit", "water sensor"],
    "place": ["Main Street", "the park by the river", "Elm Avenue", "the school gate", "the bus station",
              "Market Square", "my block", "the library", "Oak Road", "the clinic", "the new plaza",
              "the corner of 5th and Pine", "the community garden", "the train underpass"],
    "who": ["the police", "the council", "a private company", "the vendor", "anyone at city hall", "advertisers",
            "immigration officers", "my landlord", "insurance companies", "third parties"],
    "time": ["all night", "every morning", "since last week", "on weekends", "during school hours", "24/7",
             "after midnight", "for months"],
    "days": ["30", "90", "365", "seven", "a few", "forever"],
    "opener": ["", "", "", "Hi, ", "Hello. ", "Quick question: ", "I live nearby and ", "Honestly, ",
               "As a parent, ", "Not sure who to ask, but ", "Again: ", "Good morning! ", "Hey team, "],
    "closer": ["", "", "", " Thanks.", " Please reply.", " This is not ok.", " Thank you for listening!",
               " I'd like an answer this week.", " Great work so far.", " Who decided this?",
               " Can someone look into it?", " Very disappointed.", " Keep it up!"],
    "bodies": [
        "the {tech} on {place} records far more than it needs to",
        "who can see the footage from the {tech} at {place}?",
        "how long do you keep data from the {tech} near {place}",
        "the {tech} outside {place} is really useful, thank you",
        "I never agreed to be tracked by a {tech} at {place}",
        "is the data from the {tech} shared with {who}?",
        "the {tech} at {place} buzzes {time} and I cannot sleep",
        "why was a {tech} installed at {place} without asking residents",
        "great idea, the {tech} at {place} made the street safer",
        "the {tech} on {place} has been broken {time}",
        "please publish how many days the {tech} keeps recordings; I heard {days}",
        "does the {tech} at {place} use facial recognition",
        "I worry {who} will use the {tech} to watch protesters",
        "the {tech} is pointed straight into my window on {place}",
        "love the {tech} data on the city website, very transparent",
        "how much did the {tech} at {place} cost taxpayers",
        "the {tech} near {place} blocks the sidewalk for wheelchairs",
        "the screen on the {tech} is too small to read for older people",
        "can I opt out of the {tech} at {place}",
        "who maintains the {tech} at {place}? it looks abandoned",
        "the {tech} at {place} is a waste of money",
        "thanks for removing the {tech} at {place}",
        "the {tech} at {place} lights up {time} and it is very bright",
        "will the {tech} data be sold to {who}",
        "the {tech} at {place} helped find my stolen bike, thanks",
        "please add a sign explaining the {tech} at {place}",
        "I was fined because of the {tech} at {place} and it was wrong",
        "why does a {tech} need to collect personal data",
        "the {tech} at {place} is great for air quality reports",
        "no one asked us about the {tech} on {place}",
        "the {tech} makes noise {time}",
        "is the {tech} at {place} even legal",
        "the {tech} at {place}: where is the privacy notice",
        "do {who} get live access to the {tech}",
        "the {tech} at {place} scares my kids",
        "fantastic that the {tech} at {place} is solar powered",
        "it's creepy, the {tech} follows people around {place}",
        "the {tech} was supposed to be a pilot, why is it still at {place}",
        "what happens to the {tech} recordings after {days} days",
        "jobs were cut when the {tech} at {place} arrived",
        "the {tech} at {place} saves energy, good",
        "data from the {tech} should be deleted sooner",
        "terrible placement of the {tech} at {place}",
        "I support the {tech} if the data stays anonymous",
        "the {tech} at {place} is useless when it rains",
        "is {place} getting a {tech} too",
        "I want to see the contract for the {tech} at {place}",
        "the {tech} at {place} is racist in where it was placed",
        "cool, the {tech} counts bikes on {place}",
        "the {tech} near {place} emits a weird smell {time}",
    ],
    "pii": [" Call me at (555) 201-7788.", " My email is jo.smith@example.org.", " My car is 7ABC123.",
            " Reach me on +1 415 555 0134.", " Plate ABC 1234 got a wrong ticket.", " See AQ-017 and CAM-12.",
            " Ref C-7K2Q9."],
    "short": ["Camera on Main St?", "Too much surveillance", "Thanks for the sensors!", "Noise sensor broken",
              "Who sees the videos?", "Stop the drones please", "Love the new kiosk"],
}

ES = {
    "tech": ["cámara", "lector de matrículas", "sensor de calidad del aire", "medidor de ruido", "farola inteligente",
             "sensor de aparcamiento", "semáforo", "detector de disparos", "quiosco", "baliza wifi",
             "contador de bicis", "dron", "papelera inteligente", "sensor de agua"],
    "place": ["la calle Mayor", "el parque del río", "la avenida de los Olmos", "la puerta del colegio",
              "la estación de autobuses", "la plaza del mercado", "mi manzana", "la biblioteca", "el ambulatorio",
              "la nueva plaza", "la esquina de Pino con Quinta", "el huerto comunitario"],
    "who": ["la policía", "el ayuntamiento", "una empresa privada", "el proveedor", "los anunciantes",
            "las aseguradoras", "terceros", "mi casero"],
    "time": ["toda la noche", "cada mañana", "desde la semana pasada", "los fines de semana", "en horario escolar",
             "las 24 horas", "después de medianoche", "desde hace meses"],
    "days": ["30", "90", "365", "siete", "unos pocos"],
    "opener": ["", "", "", "Hola, ", "Buenos días. ", "Una pregunta: ", "Vivo cerca y ", "Sinceramente, ",
               "Como madre, ", "No sé a quién preguntar, pero ", "Otra vez: ", "Buenas tardes, "],
    "closer": ["", "", "", " Gracias.", " Por favor respondan.", " Esto no está bien.", " ¡Gracias por escuchar!",
               " Quiero una respuesta esta semana.", " Buen trabajo.", " ¿Quién decidió esto?",
               " ¿Alguien puede revisarlo?", " Muy decepcionada.", " ¡Sigan así!"],
    "bodies": [
        "la {tech} de {place} graba mucho más de lo necesario",
        "¿quién puede ver las imágenes de la {tech} de {place}?",
        "¿cuánto tiempo guardan los datos del {tech} cerca de {place}?",
        "el {tech} de {place} es muy útil, gracias",
        "nunca acepté que me vigile un {tech} en {place}",
        "¿se comparten los datos del {tech} con {who}?",
        "el {tech} de {place} zumba {time} y no puedo dormir",
        "¿por qué pusieron un {tech} en {place} sin preguntar a los vecinos?",
        "buena idea, el {tech} de {place} hizo la calle más segura",
        "el {tech} de {place} lleva roto {time}",
        "publiquen cuántos días guarda grabaciones el {tech}; me dijeron {days}",
        "¿el {tech} de {place} usa reconocimiento facial?",
        "me preocupa que {who} use el {tech} para vigilar manifestaciones",
        "el {tech} apunta directamente a mi ventana en {place}",
        "me encantan los datos del {tech} en la web municipal",
        "¿cuánto costó el {tech} de {place}?",
        "el {tech} junto a {place} bloquea la acera para sillas de ruedas",
        "la pantalla del {tech} es demasiado pequeña para las personas mayores",
        "¿puedo negarme a que el {tech} de {place} me registre?",
        "¿quién mantiene el {tech} de {place}? parece abandonado",
        "el {tech} de {place} es un derroche de dinero",
        "gracias por quitar el {tech} de {place}",
        "el {tech} de {place} se enciende {time} y deslumbra",
        "¿van a vender los datos del {tech} a {who}?",
        "el {tech} de {place} ayudó a encontrar mi bici robada",
        "pongan un cartel que explique el {tech} de {place}",
        "me multaron por el {tech} de {place} y fue un error",
        "¿por qué un {tech} necesita datos personales?",
        "nadie nos consultó sobre el {tech} de {place}",
        "el {tech} hace ruido {time}",
        "¿es legal el {tech} de {place}?",
        "¿dónde está el aviso de privacidad del {tech} de {place}?",
        "el {tech} de {place} asusta a mis hijos",
        "qué bien que el {tech} de {place} funcione con energía solar",
        "da miedo, el {tech} sigue a la gente por {place}",
        "el {tech} era un piloto, ¿por qué sigue en {place}?",
        "¿qué pasa con las grabaciones del {tech} después de {days} días?",
        "apoyo el {tech} si los datos son anónimos",
        "el {tech} de {place} no sirve cuando llueve",
        "quiero ver el contrato del {tech} de {place}",
        "el {tech} de {place} ahorra energía, bien",
        "los datos del {tech} deberían borrarse antes",
        "pésima ubicación del {tech} en {place}",
        "¿también van a poner un {tech} en {place}?",
        "el {tech} cuenta las bicis de {place}, genial",
    ],
    "pii": [" Llámenme al 612 34 56 78.", " Mi correo es ana.garcia@example.es.", " Mi coche es 1234 BCD.",
            " Ver AQ-017.", " Referencia C-7K2Q9.", " Mi teléfono: +34 699 123 456."],
    "short": ["¿Cámara en la plaza?", "Demasiada vigilancia", "¡Gracias por los sensores!", "Sensor de ruido roto",
              "¿Quién ve los vídeos?"],
}


def template_count() -> int:
    """Distinct templates: opener x body x closer per language (slots filled on top)."""
    return sum(len(set(v["opener"])) * len(v["bodies"]) * len(set(v["closer"])) for v in (EN, ES))


def _one(rng: random.Random, lang: dict[str, list[str]]) -> str:
    if rng.random() < 0.04:
        return rng.choice(lang["short"])
    body = rng.choice(lang["bodies"]).format(
        tech=rng.choice(lang["tech"]), place=rng.choice(lang["place"]), who=rng.choice(lang["who"]),
        time=rng.choice(lang["time"]), days=rng.choice(lang["days"]))
    opener = rng.choice(lang["opener"])
    text = opener + (body if opener and not opener.endswith(". ") and not opener.endswith("! ")
                     else body[0].upper() + body[1:])
    if text[-1] not in "?!.":
        text += "."
    text += rng.choice(lang["closer"])
    # Longer texts: a second sentence now and then.
    while rng.random() < 0.35 and len(text) < 220:
        extra = rng.choice(lang["bodies"]).format(
            tech=rng.choice(lang["tech"]), place=rng.choice(lang["place"]), who=rng.choice(lang["who"]),
            time=rng.choice(lang["time"]), days=rng.choice(lang["days"]))
        text += " " + extra[0].upper() + extra[1:] + ("" if extra[-1] in "?!." else ".")
    if rng.random() < 0.08:
        text += rng.choice(lang["pii"])
    return text


def texts(n: int, seed: int, spanish_share: float = 0.35) -> list[str]:
    """n texts of 20..300 characters, about spanish_share of them in Spanish."""
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        text = _one(rng, ES if rng.random() < spanish_share else EN)
        if 20 <= len(text) <= 300:
            out.append(text)
    return out
