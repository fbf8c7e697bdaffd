# Mensajes que el buzón de salida entrega a residentes y chats del personal (HTML de Telegram: el código escapa cada variable).
outbox-reply-header = Respuesta de la ciudad sobre tu inquietud { $reference }:
outbox-status = Nuevo estado de tu inquietud { $reference }: { $status }.
outbox-status-not-responsible = Tu inquietud { $reference } trata de algo que la ciudad no gestiona. Quién es responsable:
outbox-merged-survivor = Tu inquietud { $reference } trata de lo mismo que { $other }, así que las hemos unido: recibirás noticias de ambas aquí.
outbox-merged-both = Tus inquietudes { $reference } y { $other } tratan de lo mismo, así que las hemos unido: recibirás noticias de ambas bajo { $reference }.
outbox-merged-duplicate = Tu inquietud { $reference } trata de lo mismo que { $into }, así que las hemos unido: recibirás noticias bajo { $into }.
outbox-announcement-deployment = Noticias de la ciudad sobre { $code }, que sigues:
outbox-announcement-district = Noticias de la ciudad sobre { $district }, un distrito que sigues:
outbox-announcement = Noticias de la ciudad:
outbox-deployment-created = Nuevo en el registro: { $name } ({ $code }), estado { $status }. Escribe { $code } para ver qué datos recoge y quién responde de él.
outbox-deployment-changed = { $name } ({ $code }) ha cambiado en el registro: { $count ->
    [one] se actualizó un dato
   *[other] se actualizaron { $count } datos
}; estado { $status }. Escribe { $code } para ver su ficha.
outbox-satisfaction = Tu inquietud { $reference } se cerró hace unos días. ¿Te ayudó la respuesta de la ciudad?
outbox-satisfaction-yes = Sí, me ayudó
outbox-satisfaction-no = No, reabrirla
outbox-pilot-ending = La prueba piloto de { $name } ({ $code }), que sigues, termina { $days ->
    [one] mañana
   *[other] dentro de { $days } días
}, el { $date }. Escribe { $code } para ver su ficha, o di a la ciudad qué opinas antes de que decida.
# El resumen semanal para los chats del personal (HTML de Telegram; las etiquetas del gráfico son texto plano).
digest-title = Resumen semanal, { $week } (del { $start } al { $end })
digest-totals = { $count } inquietudes ({ $change }), { $questions } preguntas sin respuesta; proporción negativa { $negative }.
digest-top = Principales inquietudes
digest-top-line = { $category }: { $count } ({ $change })
digest-debt = Deuda de respuesta: { $over7 } abiertas más de 7 días, { $over30 } más de 30; mediana hasta la primera respuesta { $median } h; proporción respondida { $answered }.
digest-attached = A continuación, el gráfico y el resumen completo (Markdown).
digest-chart-caption = Inquietudes por categoría y sentimiento medio, { $week }
digest-document-caption = Resumen completo de { $week }
digest-chart-categories = Inquietudes por categoría, { $week }
digest-chart-this-week = esta semana ({ $week })
digest-chart-last-week = semana anterior ({ $week })
digest-chart-sentiment = Sentimiento medio (polaridad, textos en inglés), últimas { $weeks } semanas
