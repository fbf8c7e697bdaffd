# El bot para residentes (HTML de Telegram: solo etiquetas b, i, code; el bot escapa las variables).
welcome =
    <b>¡Hola! Respondo preguntas sobre los sensores, cámaras y pilotos que la ciudad tiene en el espacio público.</b>

    Envíame el código del cartel de un dispositivo (como AQ-017), comparte tu ubicación para ver qué hay cerca, o pregunta con tus propias palabras.

    <b>Qué guardo:</b> consultar no necesita nada de ti. Si planteas una inquietud, sigues un dispositivo o activas los avisos, guardo un seudónimo (no tu nombre ni tu número de Telegram), tu idioma, tu chat para que la ciudad pueda responderte y lo que escribes (sin correos, teléfonos ni matrículas). /mydata te lo envía todo; /forget lo borra.

    ¿Estás de acuerdo? También puedes elegir el idioma.
consent-agree = Estoy de acuerdo
consent-later = Ahora no
consent-needed = Para esto necesito antes tu consentimiento: guardaré un seudónimo, tu idioma, tu chat (para que la ciudad pueda responderte) y lo que escribas. /mydata lo muestra todo y /forget lo borra.
consent-thanks = Gracias. Puedes cambiar de opinión cuando quieras con /forget.
consent-declined = Sin problema: puedes seguir consultando dispositivos y haciendo preguntas. No se guarda nada sobre ti.
language-choose = ¿En qué idioma prefieres?
language-set = A partir de ahora te escribiré en español.
help =
    <b>Qué puedo hacer</b>
    /near — dispositivos cerca de ti (comparte tu ubicación)
    Escribe un código como AQ-017 — su ficha: qué es, qué datos recoge, quién responde
    Escribe palabras como "cámara en la calle Olmo" — busca en el registro
    /report — plantear una inquietud
    /mine — tus inquietudes y las respuestas de la ciudad
    /follow CÓDIGO o un distrito, /unfollow, /following — enterarte de los cambios
    /notifications — activar o desactivar avisos e invitaciones
    /campaigns — consultas abiertas
    /mydata — todo lo que se guarda sobre ti; /forget — borrarlo
    /language — inglés o español; /cancel — salir de lo que estás haciendo
card =
    <b>{ $name }</b> · <code>{ $code }</code>
    { $body }
card-line = <b>{ $label }:</b> { $value }
card-pilot-dates = del { $start } al { $end }
card-pilot-from = desde el { $start } (la fecha de fin no está publicada)
card-pilot-until = hasta el { $end } (la fecha de inicio no está publicada)
code-unknown = No encuentro ningún dispositivo con el código { $code }. Revisa el cartel o usa /near para ver qué hay a tu alrededor.
near-ask = Comparte tu ubicación con el botón de abajo (o envía cualquier ubicación desde el menú de adjuntos).
near-button = Enviar mi ubicación
near-none = No conozco ningún dispositivo a menos de { $km } km de ese lugar.
near-list = { $count ->
    [one] El dispositivo más cercano:
   *[other] Los { $count } dispositivos más cercanos:
}
near-item = { $code } · { $name } · { $distance }
search-results = { $count ->
    [one] Coincide un dispositivo:
   *[other] Coinciden { $count } dispositivos:
}
search-results-some = { $more ->
    [yes] Coinciden más de { $count } dispositivos
   *[other] Coinciden { $count } dispositivos
}; estos { $shown } son los más cercanos a tus palabras (añade una palabra, un código o un barrio para acotar):
search-item = { $code } · { $name }
answer =
    <b>{ $name }</b> · <code>{ $code }</code>
    { $body }
ask-prompt = ¿Qué quieres saber sobre { $code } ({ $name })? Por ejemplo: "¿me está grabando?", "¿quién ve los datos?", "¿cuánto tiempo se guardan?"
question-stored = No puedo responder a eso con el registro publicado, así que he pasado tu pregunta a la ciudad como { $reference }. Te responderán aquí; /mine la muestra.
question-stored-anonymous = No puedo responder a eso con el registro publicado, así que he pasado tu pregunta a la ciudad ({ $reference }). Para recibir respuesta, da tu consentimiento con /start y vuelve a preguntar.
question-which-deployment = ¿A qué dispositivo te refieres? Envía el código de su cartel o usa /near.
not-understood = No encontré nada con eso. Envía un código de dispositivo (como AQ-017), usa /near o /help.
attachment-not-understood = Solo puedo leer texto y ubicaciones. Envía palabras, un código de dispositivo o tu ubicación; /help lo explica todo.
group-chat = Solo funciono en chats privados y no guardo nada de los grupos. Escríbeme directamente.
staff-chat-hello = Este chat recibe el resumen semanal. Los residentes me escriben en chats privados.
command-unknown = No conozco ese comando. /help muestra lo que puedo hacer.
campaign-unknown = Esa consulta no está abierta. /campaigns muestra las abiertas.
campaigns-none = Ahora mismo no hay consultas abiertas cerca de ti ni sobre lo que sigues.
cancelled = Cancelado. No se envió nada.
nothing-to-cancel = No había nada que cancelar.
skip-nothing = Ahora no hay nada que omitir.
flow-expired = Ese botón es de un mensaje anterior. Usa el último, o /help.
error-not-found = No lo encontré.
error-invalid = No pude usar eso. Inténtalo de nuevo.
error-unexpected-saved = Algo falló de nuestro lado después de guardar tu mensaje. No se ha perdido nada; /mine lo muestra.
error-unexpected = Algo falló de nuestro lado. No se guardó nada de tu último mensaje; inténtalo de nuevo.
button-report = Plantear una inquietud
button-ask = Hacer una pregunta
button-follow = Seguir
button-unfollow = Dejar de seguir
button-nearby = Cerca
button-cancel = Cancelar
button-skip = Omitir
button-next = Siguiente ›
button-previous = ‹ Anterior
report-ask-target = ¿Sobre qué es tu inquietud?
report-target-this = Este dispositivo ({ $code })
report-target-nearby = Un dispositivo cerca de mí
report-target-general = Algo general
report-ask-location-target = Comparte tu ubicación y elige el dispositivo de la lista (o escribe su código).
report-target-not-code = Escribe un código de dispositivo (como AQ-017) o usa los botones.
report-ask-text = Cuéntame tu inquietud sobre { $code } ({ $name }) en un mensaje, de hasta { $limit } caracteres.
report-ask-text-general = Cuéntame tu inquietud en un mensaje, de hasta { $limit } caracteres.
report-too-long = Son { $length } caracteres; el límite es { $limit }. Envía una versión más corta o usa los primeros { $limit } caracteres: guardamos tu borrador.
report-use-first = Usar los primeros { $limit } caracteres
report-ask-category = ¿Qué parte te preocupa? Mi sugerencia: { $category }.
report-category-suggested = ✓ { $category }
report-ask-feeling = ¿Cómo te sientes al respecto, de 1 (muy descontento) a 5 (contento)? Puedes omitirlo.
feeling-1 = 1 😠
feeling-2 = 2 🙁
feeling-3 = 3 😐
feeling-4 = 4 🙂
feeling-5 = 5 😀
report-ask-location = ¿Dónde está? Comparte una ubicación u omítelo.
report-confirm =
    <b>Revisa antes de enviar</b>
    Sobre: { $about }
    Categoría: { $category }
    Sentimiento: { $feeling }
    Ubicación: { $location }

    { $text }
report-about-deployment = { $code } ({ $name })
report-about-general = general
report-no-feeling = sin indicar
report-location-yes = compartida
report-location-no = sin compartir
report-send = Enviar
report-change-category = Cambiar categoría
report-duplicate = El { $date } planteaste { $reference } sobre lo mismo: "{ $text }". ¿Lo añado a esa inquietud o registro una nueva?
report-add-to = Añadir a { $reference }
report-file-new = Registrar como nueva
report-choose-duplicate = Elige uno de los botones: añadir a tu inquietud anterior o registrar una nueva.
report-location-words = No puedo ubicar una dirección en el mapa. Comparte una ubicación con el botón de abajo (en Telegram puedes mover el marcador al lugar), o pulsa Omitir.
report-text-only = Espero tu inquietud como mensaje de texto (no puedo guardar fotos, audios ni stickers). Escríbela, o /cancel.
report-draft-replaced = Tu borrador sin enviar («{ $text }») quedó descartado por esta nueva inquietud. Cópialo de arriba si aún quieres enviarlo.
report-use-buttons = Usa los botones de arriba, o /cancel.
report-done = Gracias. Tu inquietud queda registrada como <b>{ $reference }</b>. El personal de la ciudad lee todas las inquietudes; cuando respondan o cambien su estado te enterarás aquí. /mine la muestra cuando quieras.
report-added = Añadido a { $reference }. El personal lo ve en su historial.
follow-how = Envía /follow con un código de dispositivo (como AQ-017) o el nombre de un distrito, o pulsa Seguir en una ficha.
follow-unknown = No encontré ningún dispositivo ni distrito llamado "{ $target }".
follow-done = Sigues { $target }. { $notifications ->
    [on] Te avisaré aquí de los cambios.
   *[off] Activa los avisos con /notifications para enterarte de los cambios.
}
follow-already = Ya sigues { $target }.
follow-limit = Ya sigues { $limit } dispositivos y distritos, lo máximo que guardo para una persona, así que no he añadido { $target }. Deja de seguir algo con /following primero.
unfollow-done = Ya no sigues { $target }.
unfollow-not-following = No seguías { $target }.
following-none = Todavía no sigues nada. Pulsa Seguir en una ficha, o /follow CÓDIGO.
following-list =
    <b>Sigues</b> ({ $total }, página { $page } de { $pages }):
    { $items }
following-deployment = { $code } · { $name }
following-district = distrito: { $name }
following-unfollow-item = Dejar de seguir { $target }
notifications-state = Avisos e invitaciones: <b>{ $notifications ->
    [on] activados
   *[off] desactivados
}</b>. Guardar tu última ubicación compartida (redondeada a unos 250 m, 30 días) para consultas cerca de ti: <b>{ $location ->
    [on] sí
   *[off] no
}</b>.
notifications-turn-on = Activar avisos
notifications-turn-off = Desactivar avisos
keep-location-turn-on = Guardar mi ubicación
keep-location-turn-off = Olvidar mi ubicación
notifications-on = Avisos activados.
notifications-off = Avisos desactivados.
keep-location-on = Guardaré tu última ubicación compartida, redondeada a unos 250 m, durante 30 días.
keep-location-off = No guardaré tu ubicación y he olvidado la que tenía.
mine-none = Todavía no has planteado ninguna inquietud. /report para plantear una.
mine-item = <b>{ $reference }</b> · { $status } · { $date } · { $category }
    { $text }
mine-reply = <i>Respuesta de la ciudad:</i> { $text }
mine-text-removed = (texto eliminado)
mine-list =
    <b>Tus inquietudes</b> ({ $total }, página { $page } de { $pages })

    { $items }
satisfaction-thanks = Gracias por contarnos sobre { $reference }.
satisfaction-ask-reason = Lamentamos oírlo. ¿Qué sigue mal con { $reference }? Tu respuesta la reabre.
satisfaction-reopened = { $reference } vuelve a estar abierta, con tu motivo. El personal la revisará de nuevo.
satisfaction-noted = Anotado para { $reference }.
satisfaction-still-open = { $reference } sigue abierta; tu motivo se añadió y el personal lo verá.
mydata-caption = Todo lo que se guarda sobre ti, en JSON.
forget-confirm = ¿Borrar todo lo que se guarda sobre ti? Tus inquietudes seguirán en las estadísticas de la ciudad, pero sin su texto y sin ningún vínculo contigo. No se puede deshacer.
forget-yes = Sí, borrar
forget-no = No, conservar
forget-kept = No se borró nada.
forget-done = Hecho. { $rows ->
        [one] Se borró un registro sobre ti
       *[other] Se borraron { $rows } registros sobre ti
    } y { $concerns ->
        [one] se vació y desvinculó una inquietud
       *[other] se vaciaron y desvincularon { $concerns } inquietudes
    }. Si vuelves a escribir, empiezas de cero.
command-start = Bienvenida, consentimiento e idioma
command-help = Qué puedo hacer
command-near = Dispositivos cerca de ti
command-report = Plantear una inquietud
command-mine = Tus inquietudes y respuestas
command-follow = Seguir un dispositivo o distrito
command-unfollow = Dejar de seguir
command-following = Lo que sigues
command-notifications = Activar o desactivar avisos
command-campaigns = Consultas abiertas
command-mydata = Todo lo que se guarda sobre ti
command-forget = Borrar tus datos
command-language = Inglés o español
command-cancel = Salir de lo que estás haciendo
campaigns-list = { $count ->
    [one] Hay una consulta abierta para ti:
   *[other] Hay { $count } consultas abiertas para ti:
}
campaign-closed = Esta consulta está cerrada y ya no se aceptan respuestas. Gracias de todos modos.
campaign-intro =
    <b>{ $title }</b>
    { $description }

    { $count ->
        [one] Una pregunta.
       *[other] { $count } preguntas.
    } { $until } Puedes parar cuando quieras y seguir más tarde donde lo dejaste.
campaign-question =
    <b>{ $header }</b>
    { $text }
    <i>{ $hint }</i>
button-back = ‹ Atrás
button-done = Listo
campaign-choose-one = Elige al menos una respuesta, u omite la pregunta si se puede.
campaign-use-buttons = Responde con los botones de arriba, por favor.
campaign-missing = La pregunta { $number } necesita una respuesta antes de terminar.
campaign-summary =
    <b>Tus respuestas a { $title }</b>
    { $items }

    Puedes cambiar cualquier respuesta hasta que se cierre la consulta.
campaign-summary-item = { $number }. { $question } — <b>{ $answer }</b>
campaign-change = Cambiar la respuesta { $number }
campaign-thanks = ¡Gracias por responder a { $title }! { $when }
campaign-results-when = Los resultados se compartirán cuando cierre, el { $date }.
campaign-results-when-open = Los resultados se compartirán cuando cierre.
campaign-preview = <b>Vista previa.</b> Estás probando esta consulta antes de que se abra: responde como lo haría un residente. Tus respuestas se descartan al abrirla.
