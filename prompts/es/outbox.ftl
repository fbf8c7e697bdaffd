# Mensajes que el buzón de salida entrega a residentes y chats del personal (HTML de Telegram: el código escapa cada variable).
outbox-reply-header = Respuesta de la ciudad sobre tu inquietud { $reference }:
outbox-status = Nuevo estado de tu inquietud { $reference }: { $status }.
outbox-status-not-responsible = Tu inquietud { $reference } trata de algo que la ciudad no gestiona. Quién es responsable:
outbox-merged-survivor = Tu inquietud { $reference } trata de lo mismo que { $other }, así que las hemos unido: recibirás noticias de ambas aquí.
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
