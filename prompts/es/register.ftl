# Palabras de la ficha del dispositivo y del registro.
not-published = la ciudad no lo ha publicado
card-what = Qué es
card-why = Por qué está ahí
card-who = Responsable
card-contact = Contacto
card-vendor = Proveedor
card-data = Qué datos recoge
card-personal = Datos personales
card-processing = Cómo se tratan los datos
card-access = Quién puede acceder a los datos
card-storage = Dónde se guardan los datos
card-retention = Cuánto tiempo se guardan
card-status = Estado
card-pilot = Fechas del piloto
card-links = Más información
personal-yes = sí, trata datos personales
personal-no = no trata datos personales
retention-days = { $days ->
    [one] { $days } día
   *[other] { $days } días
}
# Un plazo de años o meses enteros, con sus días exactos después.
retention-years = { $years ->
    [one] { $years } año
   *[other] { $years } años
} ({ $days } días)
retention-months = { $months ->
    [one] { $months } mes
   *[other] { $months } meses
} ({ $days } días)
retention-none = no se guarda nada
status-proposed = propuesto
status-pilot = piloto
status-active = activo
status-paused = en pausa
status-retired = retirado
distance-metres = a { $metres } m
distance-km = a { NUMBER($km, minimumFractionDigits: 1, maximumFractionDigits: 1) } km
